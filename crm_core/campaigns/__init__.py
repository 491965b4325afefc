"""Offer campaigns: eligibility, suppression, contact-pressure caps, selection, redemption."""
