"""The round's commitments root: fixed at close, so no submission can be swapped afterwards."""

from tournaments.models import Round
from tournaments.selectors import commitments_tree


def round_commitments_record(*, round: Round) -> str:
    """Store the Merkle root over the round's counted envelopes; return it ("0x" + hex).

    Call inside the round's row lock, after the counted submissions are marked (round_close
    does). With nothing counted the root is 32 zero bytes, as the contract expects.
    """
    tree = commitments_tree(round=round)
    round.commitments_root = "0x" + tree.root.hex()
    round.commitments_count = len(tree)
    round.save(update_fields=["commitments_root", "commitments_count"])
    return round.commitments_root
