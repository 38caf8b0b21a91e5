"""Cross-cutting helpers with no domain meaning: logging, redaction, event bus, credentials."""
