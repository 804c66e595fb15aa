"""The fictional demo territory, written as official-format source files."""
