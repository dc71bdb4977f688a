"""Test doubles shared by several kinds of tests (unit and integration): not tied to one folder."""
