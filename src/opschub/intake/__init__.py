"""Safe reporting: public reports, fingerprint-only self-reports, the partner API and receipts."""
