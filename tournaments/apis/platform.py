"""What a client needs to trust this platform: its receipt key and the formats it speaks."""

from arena_client.receipts import RECEIPT_TYPE
from arena_client.sealing import ENVELOPE_HEADER, ENVELOPE_OVERHEAD, INFO_LABEL
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.tools import max_prediction_bytes, operation
from tournaments.ledger import ledger
from tournaments.services.receipts import platform_receipt_public_key

TAG_PLATFORM = ["platform"]
HPKE_SUITE = "DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256 / AES-256-GCM"


class EnvelopeFormatSerializer(serializers.Serializer):
    hpke_suite = serializers.CharField()
    header_hex = serializers.CharField(help_text="the 11 bytes every envelope starts with")
    overhead_bytes = serializers.IntegerField(help_text="envelope size minus plaintext size")
    info_label = serializers.CharField(help_text="start of the HPKE info (see client/README.md)")


class PlatformDetailApi(APIView):
    class OutputSerializer(serializers.Serializer):
        receipt_public_key = serializers.CharField(
            help_text="Ed25519 public key (64 hex digits) that verifies upload receipts"
        )
        receipt_signature_algorithm = serializers.CharField()
        receipt_type = serializers.CharField()
        envelope = EnvelopeFormatSerializer(help_text="the sealed-upload format")
        max_prediction_bytes = serializers.IntegerField(help_text="before sealing")
        commitments = serializers.CharField(help_text="how the commitments root is built")
        chain = serializers.JSONField(
            allow_null=True,
            help_text="the chain the platform settles on: backend, chain_id, token and staking "
            "addresses (null with the chain switched off)",
        )

    @operation(
        summary="Platform keys and formats",
        tags=TAG_PLATFORM,
        auth="none (public)",
        responses=OutputSerializer,
        description="The public key that verifies upload receipts, and the sealed-envelope and "
        "commitments formats. A client pins or compares `receipt_public_key` before trusting a "
        "receipt.",
    )
    def get(self, request: Request) -> Response:
        data = {
            "receipt_public_key": platform_receipt_public_key().hex(),
            "receipt_signature_algorithm": "Ed25519",
            "receipt_type": RECEIPT_TYPE,
            "envelope": {
                "hpke_suite": HPKE_SUITE,
                "header_hex": ENVELOPE_HEADER.hex(),
                "overhead_bytes": ENVELOPE_OVERHEAD,
                "info_label": INFO_LABEL.decode(),
            },
            "max_prediction_bytes": max_prediction_bytes(),
            "commitments": "leaf = keccak256(keccak256(sha256 digest of the envelope, as in its "
            "CID)); node = keccak256(min(a, b) || max(a, b)); one root per round, fixed at close",
            "chain": ledger().describe(),
        }
        return Response(self.OutputSerializer(data).data)
