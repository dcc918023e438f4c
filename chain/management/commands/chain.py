"""`manage.py chain status [--json]`, `manage.py chain deploy [--json] (--initial-supply N |
--dev-chain)` and `manage.py chain gas-report [--json] [--batch N]`."""

import json

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from chain.client import ChainBusy, chain_enabled, contract_build_cache, use_gateway
from chain.gas_report import gas_report
from chain.gateway import ChainGateway
from chain.models import ChainDeployment, IndexerCursor, RoundSettlement
from core.money import wei_to_tokens
from tournaments.models import Round, RoundState, Tournament

GAS_ROWS = [
    ("stake (first, new model)", "stake_first"),
    ("stake (top-up)", "stake_top_up"),
    ("approve", "approve"),
    ("fund", "fund"),
    ("open_round", "open_round"),
    ("post_commitments_root", "post_commitments_root"),
    ("propose_settlement", "propose_settlement"),
    ("finalize_settlement", "finalize_settlement"),
    ("operator per round (open + post + propose + finalize)", "operator_per_round"),
    ("apply: batch total", "apply_batch_total"),
    ("apply: per leaf", "apply_per_leaf"),
    ("apply: per leaf, sparse model ids (worst case)", "apply_per_leaf_sparse_ids"),
]


def _told_dev_chain(opts: dict) -> bool:
    """Deploy the mintable token only when told the node is a development one: --dev-chain,
    or CHAIN_DEV=1 on the RPC chain this command deploys to (CHAIN_DEV is on by default only
    for the embedded chain, which deploys itself). Nothing is inferred from the chain id:
    31337 is a convention any network may follow, and a guess would mint on it."""
    return bool(opts["dev_chain"] or (settings.ARENA_CHAIN == "rpc" and settings.CHAIN_DEV))


class Command(BaseCommand):
    help = "Chain status (addresses, block, pools, pending settlements) or a gas report."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        status = sub.add_parser("status", help="addresses, block, pools, pending settlements")
        status.add_argument("--json", action="store_true")
        deploy = sub.add_parser("deploy", help="deploy token + staking on CHAIN_RPC_URL once")
        deploy.add_argument("--json", action="store_true")
        deploy.add_argument(
            "--dev-chain", action="store_true",
            help="a development node (anvil): deploy the mintable test token (so does CHAIN_DEV=1)",
        )
        deploy.add_argument(
            "--initial-supply", type=int, default=0,
            help="the token's whole supply in base units (18 decimals), minted once to the "
            "operator; required unless on a dev chain",
        )
        gas = sub.add_parser("gas-report", help="gas of stake, propose, finalize, apply per leaf")
        gas.add_argument("--json", action="store_true")
        gas.add_argument("--batch", type=int, default=100, help="leaves per apply batch")

    def handle(self, *args, **opts):
        if opts["action"] == "gas-report":
            return self._gas_report(opts)
        if opts["action"] == "deploy":
            return self._deploy(opts)
        return self._status(opts)

    def _deploy(self, opts) -> None:
        """One deployment for every process to share (set the printed addresses in their env)."""
        if not (settings.CHAIN_RPC_URL and settings.CHAIN_OPERATOR_KEY):
            raise CommandError("set CHAIN_RPC_URL and CHAIN_OPERATOR_KEY to deploy on a node")
        dev_chain = _told_dev_chain(opts)
        if opts["initial_supply"] < 0:
            raise CommandError("--initial-supply must not be negative")
        if not dev_chain and opts["initial_supply"] == 0:
            raise CommandError(
                "chain deploy deploys the non-mintable token, whose whole supply is minted once "
                "to the operator: pass --initial-supply N (base units, 18 decimals). On a "
                "development node (anvil) pass --dev-chain for the mintable test token."
            )
        gateway = ChainGateway.rpc(
            settings.CHAIN_RPC_URL, settings.CHAIN_OPERATOR_KEY, build_cache_dir=contract_build_cache()
        )
        deployment = gateway.deploy(dev_mode=dev_chain, initial_supply=opts["initial_supply"])
        deployment["token_mintable"] = gateway.token_mintable()
        deployment["token_supply"] = str(gateway.token_total_supply())
        if opts["json"]:
            self.stdout.write(json.dumps(deployment))
            return
        self.stdout.write(f"CHAIN_TOKEN_ADDRESS={deployment['token']}")
        self.stdout.write(f"CHAIN_STAKING_ADDRESS={deployment['staking']}")
        self.stdout.write(f"# chain {deployment['chain_id']}, block {deployment['block']}")
        if deployment["token_mintable"]:
            self.stdout.write("# token: MINTABLE test token (dev chain); never use it on a real network")
        else:
            self.stdout.write(
                f"# token: fixed supply of {deployment['token_supply']} base units, all with the "
                f"operator {gateway.operator}; minting is closed for good"
            )

    def _gas_report(self, opts) -> None:
        report = gas_report(batch_size=opts["batch"])
        if opts["json"]:
            self.stdout.write(json.dumps(report))
            return
        self.stdout.write(f"Gas on a fresh {report['backend']} chain, batches of {report['batch_size']} leaves")
        width = max(len(label) for label, _ in GAS_ROWS)
        for label, key in GAS_ROWS:
            self.stdout.write(f"  {label:<{width}}  {report[key]:>12,}")
        self.stdout.write(f"  {'target: apply per leaf at most':<{width}}  {report['apply_per_leaf_target']:>12,}")

    def _status(self, opts) -> None:
        if not chain_enabled():
            raise CommandError(f"ARENA_CHAIN={settings.ARENA_CHAIN}: the chain is switched off")
        deployment = ChainDeployment.objects.first()
        status = {
            "backend": settings.ARENA_CHAIN,
            "rpc_url": settings.CHAIN_RPC_URL or None,
            "deployment": None if deployment is None else {
                "chain_id": deployment.chain_id, "token": deployment.token,
                "staking": deployment.staking, "block": deployment.block,
            },
            "indexed_block": getattr(IndexerCursor.objects.filter(name="staking").first(), "last_block", None),
        }
        try:
            with use_gateway() as gateway:
                status["block"] = gateway.block_number()
                status["node_deployment"] = gateway.deployment
                live = {t.pk: gateway.pool_of(t.pk) for t in Tournament.objects.all()}
        except ChainBusy as exc:
            status["block"] = None
            status["note"] = f"{exc}; showing the database's mirror"
            live = {}
        status["pools"] = [
            {
                "tournament": t.slug,
                "pool_mirrored": str(t.reward_pool),
                "pool_on_chain": str(live[t.pk]) if t.pk in live else None,
                "pool_tokens": str(wei_to_tokens(t.reward_pool)),
            }
            for t in Tournament.objects.order_by("pk")
        ]
        status["pending_settlements"] = [
            {
                "tournament": s.round.tournament.slug,
                "round": s.round.number,
                "round_state": s.round.state,
                "root": s.settlement_root or None,
                "proposed_tx": s.proposed_tx or None,
                "challenge_ends": s.challenge_ends,
                "finalized_tx": s.finalized_tx or None,
                "apply_txs": s.apply_txs,
            }
            for s in RoundSettlement.objects.filter(completed=False).select_related("round__tournament")
        ] + [
            {"tournament": r.tournament.slug, "round": r.number, "round_state": r.state, "root": None}
            for r in Round.objects.filter(
                state=RoundState.RESOLVED, chain__isnull=True
            ).select_related("tournament")
        ]
        if opts["json"]:
            self.stdout.write(json.dumps(status))
            return
        self._print_status(status)

    def _print_status(self, status: dict) -> None:
        d = status["deployment"] or {}
        self.stdout.write(f"chain      {status['backend']} {status['rpc_url'] or ''}".rstrip())
        self.stdout.write(f"chain id   {d.get('chain_id')}")
        self.stdout.write(f"token      {d.get('token')}")
        self.stdout.write(f"staking    {d.get('staking')}")
        self.stdout.write(f"block      {status['block']}  (indexed to {status['indexed_block']})")
        if status.get("note"):
            self.stdout.write(f"note       {status['note']}")
        self.stdout.write("pools")
        for pool in status["pools"]:
            on_chain = pool["pool_on_chain"]
            self.stdout.write(
                f"  {pool['tournament']:<24} {pool['pool_tokens']} tokens"
                + (f" (on chain {on_chain} wei)" if on_chain is not None else "")
            )
        self.stdout.write(f"pending settlements: {len(status['pending_settlements'])}")
        for s in status["pending_settlements"]:
            self.stdout.write(
                f"  {s['tournament']} round {s['round']} ({s['round_state']}): root {s['root']}, "
                f"proposed {s.get('proposed_tx')}, finalized {s.get('finalized_tx')}"
            )
