# The round's trading book was named DexRound, like the market simulation's DexRound
# (market/simulated_round.py); only the name changes: same table contents, same columns.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('dex', '0002_twap_prices'),
    ]

    operations = [
        migrations.RenameModel(old_name='DexRound', new_name='DexBook'),
    ]
