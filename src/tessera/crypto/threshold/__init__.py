"""Threshold, additively homomorphic (exponential) ElGamal over the Ed25519 prime-order group.

Stations encrypt their counts and sums under a collective key Y that no single party knows;
the hub adds ciphertexts without learning anything, and the aggregate is never decrypted by
the stations: t of them *switch* it to the researcher's own ElGamal key, so only the
researcher reads the result, and only the aggregate.

- Encryption of m under Y: (k·G, m·G + k·Y). Ciphertexts add (Enc(a) + Enc(b) = Enc(a + b))
  and scale by known integers. Decryption yields m·G; `DiscreteLog` recovers small |m|.
- Keys: Pedersen's distributed key generation with Feldman's verifiable secret sharing,
  t-of-n, no dealer. Every party i deals a random polynomial f_i of degree t − 1, publishes
  a_ik·G for its coefficients and sends f_i(j) to party j, sealed (`tessera.crypto.sealed`).
  Party j's share is x_j = Σ_i f_i(j) and Y = Σ_i a_i0·G; x = Σ_i a_i0 is never formed.
  As usual for this DKG, a dishonest dealer can bias Y's distribution somewhat (Gennaro et
  al., 1999), which does not help it decrypt. The dealings must reach everyone unchanged:
  parties should compare a digest of all dealings before using the key.
- Key switch: each of t participants i sends (k_i·G, −λ_i·x_i·C1 + k_i·T) for the target key
  T; summed and added to C2 they give an encryption of m under T. The researcher holds T's
  secret; the stations never see m·G.
- A blinded membership test lets stations learn only whether a plaintext lies in a small
  public set (e.g. counts 1..9 for small-cell suppression): Enc(m − v) for each v is
  shuffled, scaled by a secret nonzero factor and re-randomised by every participant in turn,
  then threshold-decrypted: the identity appears iff m = v, elsewhere a random point.

Security model: honest-but-curious parties for confidentiality as long as fewer than t
collude. Shares of a key switch, partial decryptions and mixes carry no proofs of
correctness, so a malicious station can spoil (though not read) a result.

The group operations are libsodium's (`tessera.crypto.group`); the scheme above them is
written out here, one module per idea: `elgamal` (ciphertexts, encryption, decryption under a
known key), `dkg` (the collective key), `switching` (re-encryption to the researcher),
`membership` (the blinded test and the threshold decryption it needs), `dlog` (discrete
logarithms; its table of j·G is the one thing built without libsodium, because pure Python
builds it faster), `fixedpoint` (reals as small limbs) and `packing` (base64 lists, as
messages carry them).
"""

from tessera.crypto.threshold.dkg import (
    Dealing,
    DealingError,
    KeyShare,
    combine,
    deal,
    lagrange,
    public_key,
)
from tessera.crypto.threshold.dlog import DiscreteLog
from tessera.crypto.threshold.elgamal import (
    Ciphertext,
    add_all,
    decrypt,
    decrypt_point,
    encrypt,
    encrypt_many,
    rerandomise,
    zero_ciphertext,
)
from tessera.crypto.threshold.fixedpoint import FixedPoint, decrypt_fixed, encrypt_fixed
from tessera.crypto.threshold.membership import (
    combine_partials,
    is_member,
    membership_ciphertexts,
    mix,
    partial_decrypt,
    partial_decrypts,
)
from tessera.crypto.threshold.packing import (
    pack_ciphertexts,
    pack_points,
    unpack_ciphertexts,
    unpack_points,
)
from tessera.crypto.threshold.switching import KeyPair, combine_switch, switch_share, switch_shares

__all__ = [
    "Ciphertext",
    "Dealing",
    "DealingError",
    "DiscreteLog",
    "FixedPoint",
    "KeyPair",
    "KeyShare",
    "add_all",
    "combine",
    "combine_partials",
    "combine_switch",
    "deal",
    "decrypt",
    "decrypt_fixed",
    "decrypt_point",
    "encrypt",
    "encrypt_fixed",
    "encrypt_many",
    "is_member",
    "lagrange",
    "membership_ciphertexts",
    "mix",
    "pack_ciphertexts",
    "pack_points",
    "partial_decrypt",
    "partial_decrypts",
    "public_key",
    "rerandomise",
    "switch_share",
    "switch_shares",
    "unpack_ciphertexts",
    "unpack_points",
    "zero_ciphertext",
]
