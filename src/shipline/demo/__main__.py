from shipline.demo.pipeline import main

raise SystemExit(main())
