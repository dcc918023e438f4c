from django.contrib import admin

from demo.models import DemoDexMarket, DemoTournament

admin.site.register(DemoTournament)
admin.site.register(DemoDexMarket)
