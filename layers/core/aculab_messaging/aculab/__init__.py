"""Client for Aculab Cloud's messaging web services: msg_send, msg_cancel,
msg_status, msg_list_blocked and file_get (``client``), its errors (``errors``)
and the parameters and answers (``params``). Import from the module that holds
a name: an error class alone does not pull ``requests`` into a function that
never calls Aculab."""
