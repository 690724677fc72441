"""Report writers: JSON, JUnit XML, Markdown and HTML (with plots), reading plain records only."""
