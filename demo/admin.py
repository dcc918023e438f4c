from django.contrib import admin

from demo.models import DemoTournament

admin.site.register(DemoTournament)
