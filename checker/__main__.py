from checker.cli.app import main

raise SystemExit(main())
