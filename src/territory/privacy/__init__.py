"""Disclosure control: every contact figure that leaves the store goes through here."""
