"""Ingress: the ways a message enters the gateway. Each one builds an envelope and hands it to
:class:`gateway.receive.Receiver`; none of them decides anything else."""
