"""blueprint's checkov policy pack. checkov loads Python checks only from a folder with this file."""
