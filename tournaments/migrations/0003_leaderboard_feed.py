# Live leaderboards (issue 6): the per-tournament update counter/state and the bounded log.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('tournaments', '0002_encrypted_submissions'),
    ]

    operations = [
        migrations.CreateModel(
            name='LeaderboardFeed',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('version', models.PositiveBigIntegerField(default=0)),
                ('state', models.JSONField(blank=True, default=dict)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('tournament', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='live_feed', to='tournaments.tournament')),
            ],
        ),
        migrations.CreateModel(
            name='LeaderboardUpdate',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('version', models.PositiveBigIntegerField()),
                ('reason', models.CharField(max_length=40)),
                ('payload', models.JSONField()),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('tournament', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='live_updates', to='tournaments.tournament')),
            ],
            options={
                'ordering': ['tournament', 'version'],
                'constraints': [models.UniqueConstraint(fields=('tournament', 'version'), name='leaderboard_update_unique')],
            },
        ),
    ]
