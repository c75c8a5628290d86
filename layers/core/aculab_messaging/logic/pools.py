"""Message number pools: a send's ``from`` may name a pool, and Aculab picks
one of its numbers. The opt-out check and the pace keep the pool's name; what
a mobile says to (or Aculab blocks for) one of the pool's numbers is carried
over to the pool, once the number is known to be the pool's (the part write
learns it from the number Aculab reports: dal/pools.py)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aculab_messaging.logic.store_ports import OptOutStore


def set_pools_blocked(store: OptOutStore, number: str, mobile: str, blocked: bool, source: str,
                      version: str) -> list[tuple[str, bool]]:
    """A keyword to ``number`` changes (pool, mobile) as it changes (number, mobile), for each pool
    the number is known to belong to, by the same rule (the change with the highest version wins):
    each pool, and whether its pair changed."""
    return [(pool, store.blocked.set_blocked(pool, mobile, blocked, source, version))
            for pool in store.pools.pools_of(number)]


def pool_lists(pool_numbers: Mapping[str, Sequence[str]],
               lists: Mapping[str, set[str] | None]) -> dict[str, set[str]]:
    """Each pool's blocked mobiles as Aculab has them: the union of its numbers' msg_list_blocked
    (``lists``: a number's mobiles, None when it could not be read). A pool with a number
    unread is left for the next run: lifting a block on a partial list could lift one still held."""
    members: dict[str, list[str]] = {}
    for number, pools in pool_numbers.items():
        for pool in pools:
            members.setdefault(pool, []).append(number)
    return {pool: set().union(*(lists[n] or set() for n in numbers)) for pool, numbers in sorted(members.items())
            if all(lists.get(n) is not None for n in numbers)}
