# pragma version ~=0.4.3
# pragma evm-version prague
"""
@title Arena pair factory
@notice Creates one ArenaPair per unordered token pair from a blueprint
        (EIP-5202) and indexes them like a Uniswap-V2 factory: `getPair(a, b)`
        in both orders, `allPairs(i)`, `allPairsLength()` and the
        `PairCreated(token0, token1, pair, count)` event. Anyone may create a
        pair. The pair address comes from CREATE2 with the sorted token
        addresses as salt, so it depends only on the two tokens.
"""

event PairCreated:
    token0: indexed(address)
    token1: indexed(address)
    pair: address
    count: uint256

# Vyper blueprints start with the 3-byte EIP-5202 preamble (0xFE7100).
BLUEPRINT_PREAMBLE_LENGTH: constant(uint256) = 3

pair_blueprint: public(immutable(address))
getPair: public(HashMap[address, HashMap[address, address]])
allPairs: public(HashMap[uint256, address])
allPairsLength: public(uint256)


@deploy
def __init__(pair_blueprint_: address):
    assert pair_blueprint_.is_contract, "ArenaFactory: blueprint has no code"
    pair_blueprint = pair_blueprint_


@external
def createPair(tokenA: address, tokenB: address) -> address:
    """
    @notice Deploy the pair of `tokenA` and `tokenB` (any order).
    @return The new pair's address.
    """
    assert tokenA != tokenB, "ArenaFactory: identical tokens"
    token0: address = tokenA
    token1: address = tokenB
    if convert(tokenB, uint256) < convert(tokenA, uint256):
        token0 = tokenB
        token1 = tokenA
    assert token0 != empty(address), "ArenaFactory: zero address token"
    assert self.getPair[token0][token1] == empty(address), "ArenaFactory: pair exists"
    salt: bytes32 = keccak256(concat(convert(token0, bytes20), convert(token1, bytes20)))
    pair: address = create_from_blueprint(
        pair_blueprint, token0, token1, salt=salt, code_offset=BLUEPRINT_PREAMBLE_LENGTH
    )
    self.getPair[token0][token1] = pair
    self.getPair[token1][token0] = pair
    count: uint256 = self.allPairsLength
    self.allPairs[count] = pair
    self.allPairsLength = count + 1
    log PairCreated(token0=token0, token1=token1, pair=pair, count=count + 1)
    return pair
