"""Writes. Each public function is keyword-only and owns its transaction."""
