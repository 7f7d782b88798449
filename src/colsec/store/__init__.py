"""Persistence of STIX objects, their observables index, sharing policy and the audit log."""
