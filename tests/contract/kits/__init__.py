"""One kit per source: the signed sample webhooks the contract suite sends it.

A kit is a module `kits/<name>.py` whose `KIT` is a `base.SourceKit`; every source registered in
`goshops_adapter.platforms.SOURCES` must have one, or the contract suite fails.
"""
