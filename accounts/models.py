"""API keys: shown once, stored hashed, scoped, revocable."""

from django.conf import settings
from django.db import models


class ApiScope(models.TextChoices):
    READ = "read", "read"
    SUBMIT = "submit", "submit predictions"
    STAKE = "stake", "stake"
    SPONSOR = "sponsor", "sponsor tournaments"


class ApiKey(models.Model):
    """A bearer key. Only its SHA-256 is stored; `prefix` lets the owner recognise it."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    key_hash = models.CharField(max_length=64, unique=True)
    scopes = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.name})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes
