"""Chain module: contracts, Merkle trees and the web3 gateway (the only web3 importer)."""
