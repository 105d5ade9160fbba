"""The end-to-end demo: seed 000's pipeline on the example service, on this machine."""
