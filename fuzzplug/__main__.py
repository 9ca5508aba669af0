from fuzzplug.cli import main

raise SystemExit(main())
