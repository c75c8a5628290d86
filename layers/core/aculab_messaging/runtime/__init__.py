"""What a function is made of at init: settings, wiring, logging and metrics, the collector paused."""
