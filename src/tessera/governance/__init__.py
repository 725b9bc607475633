"""Studies, purposes, approvals and the rules of who may do what."""
