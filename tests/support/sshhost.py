"""The SSH host of the tests: shipline.demo.sandbox's, which the demo uses too."""

from shipline.demo.sandbox import SSHHost, keygen, ssh_host

__all__ = ["SSHHost", "keygen", "ssh_host"]
