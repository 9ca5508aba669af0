"""One module per CLI verb: `add_parser(subparsers)` and `run(args) -> int`."""
