"""Operator and developer tooling for the Go Shops webhook adapter (never shipped to Lambda)."""
