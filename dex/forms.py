"""The sponsor's website form for a DEX tournament: the classic form's schedule, payout rules
and token, plus the market (quote token, exchange, universe) and the trading rules."""

from datetime import timedelta

from django import forms
from eth_utils import is_address

from chain.dex.twap import DEFAULT_TWAP_BLOCKS, MAX_TWAP_BLOCKS
from dex.services.markets import TradingRules, UniverseToken
from tournaments.forms import TokenAmountField, TournamentCreateForm


class DexTournamentCreateForm(TournamentCreateForm):
    training_data = None  # the platform builds every data set from the pools
    first_round_at = None  # round 1 opens as soon as the vault is ready

    quote_token = forms.CharField(max_length=42, help_text="Address of the token the vault holds and prices in.")
    quote_symbol = forms.CharField(max_length=12, initial="USDC")
    factory = forms.CharField(max_length=42, help_text="A Uniswap-V2-compatible factory holding the pools.")
    router = forms.CharField(max_length=42, help_text="The router the vault trades through.")
    universe = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 6, "placeholder": "WETH 0x…\nWBTC 0x…"}),
        help_text="One token per line: symbol, then its address. 5 to 128 tokens, each with a pool "
        "against the quote token.",
    )
    capital = TokenAmountField(help_text="Trading capital in the quote token (18 decimals).")
    tilt = forms.FloatField(min_value=0, max_value=1, initial=0.5,
                            help_text="Weights stay within (1 ± tilt)/K around equal weight.")
    era_seconds = forms.IntegerField(min_value=1, initial=3600, label="Era (seconds)",
                                     help_text="Features and targets live on this grid of chain time.")
    twap_blocks = forms.IntegerField(
        min_value=1, max_value=MAX_TWAP_BLOCKS, initial=DEFAULT_TWAP_BLOCKS, required=False,
        label="Price average (blocks)",
        help_text="Marks, targets, P&L and trade limits use each pool's time-weighted average price "
        "over this many blocks, so that no single block can move them.",
    )
    pnl_multiplier = forms.FloatField(min_value=0, max_value=10, initial=1.0, label="P&L multiplier")

    FIELDSETS = (
        ("About", ("name", "slug", "description")),
        ("Market", ("quote_token", "quote_symbol", "factory", "router", "universe")),
        ("Trading", ("capital", "tilt", "era_seconds", "twap_blocks")),
        (
            "Schedule",
            ("round_interval", "submission_window", "resolution_lag", "score_days", "score_day_interval"),
        ),
        ("Payout rules", ("payout_threshold", "corr_multiplier", "mmc_multiplier", "pnl_multiplier", "payout_cap")),
        ("Token", ("token_symbol", "reward_pool")),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["round_interval"].initial = timedelta(days=1)
        self.fields["submission_window"].initial = timedelta(hours=2)
        self.fields["resolution_lag"].initial = timedelta(hours=6)
        self.fields["score_days"].initial = 4
        self.fields["score_day_interval"].initial = timedelta(hours=6)

    def clean_universe(self) -> list[UniverseToken]:
        tokens, problems = [], []
        for number, line in enumerate(self.cleaned_data["universe"].splitlines(), start=1):
            parts = line.replace(",", " ").split()
            if not parts:
                continue
            if len(parts) != 2:
                problems.append(f"line {number}: expected 'SYMBOL 0xADDRESS', got {line.strip()!r}")
                continue
            tokens.append(UniverseToken(parts[0], parts[1]))
        if problems:
            raise forms.ValidationError(problems)
        return tokens

    def _address(self, name: str) -> str:
        value = self.cleaned_data[name].strip()
        if not is_address(value):
            raise forms.ValidationError("not an address (0x and 40 hex digits)")
        return value

    def clean_quote_token(self) -> str:
        return self._address("quote_token")

    def clean_factory(self) -> str:
        return self._address("factory")

    def clean_router(self) -> str:
        return self._address("router")

    def service_kwargs(self) -> dict:
        data = dict(self.cleaned_data)
        twap_blocks = data.pop("twap_blocks") or DEFAULT_TWAP_BLOCKS
        rules = TradingRules(
            capital=data.pop("capital"), tilt=data.pop("tilt"), era_seconds=data.pop("era_seconds"),
            twap_blocks=twap_blocks,
        )
        return data | {"tokens": data.pop("universe"), "rules": rules}
