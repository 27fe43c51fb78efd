"""DVID conformance: a real voxhub serve driven as DVID clients drive DVID."""
