from django.contrib import admin

from accounts.forms import ThrottledAdminAuthenticationForm
from accounts.models import ApiKey


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ("prefix", "name", "user", "scopes", "created_at", "last_used_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("prefix", "name", "user__username")
    readonly_fields = ("prefix", "key_hash", "created_at", "last_used_at")


# The admin's log-in counts failures with the site's (accounts/login_throttle.py).
admin.site.login_form = ThrottledAdminAuthenticationForm
