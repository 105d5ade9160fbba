"""The end-to-end demo: the three-layer pipeline (checks and unit tests, deploy, live
tests) on the example service, on this machine."""
