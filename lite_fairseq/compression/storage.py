"""The compact on-disk format of a compressed fairseq checkpoint: sparse bitmaps + 8-bit per-channel codes.

A compressed checkpoint is still a ``torch.save`` file holding a fairseq checkpoint dictionary (``cfg`` or
``args``, ``optimizer_history``, ``extra_state``) so that ``fairseq-generate --path`` can open it; its ``model``
entry is empty and the weights live, packed, under ``lite_fairseq_compressed``:

- ``tensors``: one record per state-dict entry, in order: name, shape, dtype, encoding and offsets into the blobs.
  Encodings: ``int8`` (every code stored), ``int8_sparse`` (a bitmap of nonzero codes plus the nonzero codes),
  ``float`` / ``float_sparse`` (the same without quantisation), ``alias`` (a tensor that shares storage with an
  earlier one, e.g. tied embeddings and output projection) and ``raw`` (non-float buffers, stored as they are).
- ``blobs``: four flat tensors that hold everything: ``bits`` (uint8, packed bitmaps, most significant bit first),
  ``codes`` (int8), ``scales`` (float32, one per output row of a quantised tensor) and ``floats`` (float32: biases,
  layer norms, small tensors and unquantised values). Few big tensors keep torch's per-tensor overhead negligible.
- ``checksums``: CRC-32 of each blob, checked on load, so flipped or cut bytes are reported instead of producing a
  silently wrong model.

Quantisation is symmetric, per output row: ``scale = max|w_row| / 127`` and ``code = round(w / scale)``, so a
pruned zero stays exactly zero and decoding is ``code * scale``.

:func:`decompress_state` turns such a dictionary back into an ordinary dense fairseq checkpoint; the plugin's
loader calls it on every checkpoint that carries the marker (:mod:`.loading`).
"""

import math
import zlib
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

import torch

from lite_fairseq.checkpoint_safety import CheckpointLoadError

FORMAT = "lite_fairseq.compressed_checkpoint"
VERSION = 1
MARKER = "lite_fairseq_compressed"
BLOB_NAMES = ("bits", "codes", "scales", "floats")
BLOB_DTYPES = {"bits": torch.uint8, "codes": torch.int8, "scales": torch.float32, "floats": torch.float32}
ENCODINGS = ("int8", "int8_sparse", "float", "float_sparse", "alias", "raw")
DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16, "float64": torch.float64}
_BIT_WEIGHTS = torch.tensor([128, 64, 32, 16, 8, 4, 2, 1], dtype=torch.uint8)


class CompressedCheckpointError(CheckpointLoadError):
    """A compressed checkpoint that is corrupt, truncated or of an unknown format; the message names the file."""


def is_compressed(state) -> bool:
    return isinstance(state, dict) and MARKER in state


# ---------------------------------------------------------------------------------------------- bit packing

def pack_bits(mask: torch.Tensor) -> torch.Tensor:
    """Bool tensor -> uint8 bytes, 8 elements a byte, most significant bit first (``numpy.packbits`` order)."""
    flat = mask.reshape(-1).to(torch.uint8)
    pad = (-flat.numel()) % 8
    if pad:
        flat = torch.cat([flat, flat.new_zeros(pad)])
    return (flat.view(-1, 8) * _BIT_WEIGHTS).sum(dim=1, dtype=torch.int32).to(torch.uint8)


def unpack_bits(packed: torch.Tensor, numel: int) -> torch.Tensor:
    bits = packed.view(-1, 1).bitwise_and(_BIT_WEIGHTS).ne(0)
    return bits.reshape(-1)[:numel]


# ---------------------------------------------------------------------------------------------- quantisation

def quantize_per_channel(weight: torch.Tensor, bits: int = 8) -> Tuple[torch.Tensor, torch.Tensor]:
    """Symmetric linear quantisation per output row (dim 0): returns (int8 codes, float32 scale per row)."""
    if not 2 <= bits <= 8:
        raise ValueError(f"quantisation bit width must be between 2 and 8, got {bits}")
    levels = 2 ** (bits - 1) - 1
    w = weight.detach().to(torch.float32).reshape(weight.shape[0], -1)
    scale = w.abs().amax(dim=1) / levels
    scale = torch.where(scale > 0, scale, torch.ones_like(scale))  # an all-zero row: any scale decodes to zero
    codes = torch.round(w / scale[:, None]).clamp_(-levels, levels).to(torch.int8)
    return codes.reshape(weight.shape), scale


def dequantize_per_channel(codes: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    return (codes.reshape(codes.shape[0], -1).to(torch.float32) * scale[:, None]).reshape(codes.shape)


# ---------------------------------------------------------------------------------------------- policy

@dataclass
class StoragePolicy:
    """Which tensors are quantised: floating point, at least 2-D and at least ``min_numel`` elements (weights of
    linear layers and embeddings); everything else (biases, layer norms, tiny kernels) stays in float32."""
    bits: Optional[int] = 8  # None: no quantisation (pruned float32 storage)
    min_numel: int = 1024

    def quantizes(self, tensor: torch.Tensor) -> bool:
        return (self.bits is not None and tensor.is_floating_point() and tensor.dim() >= 2
                and tensor.numel() >= self.min_numel)


def _storage_key(t: torch.Tensor):
    return (t.untyped_storage().data_ptr(), t.storage_offset(), tuple(t.shape), tuple(t.stride()), t.dtype)


# ---------------------------------------------------------------------------------------------- compress

def compress_state_dict(state_dict: Dict[str, torch.Tensor], policy: Optional[StoragePolicy] = None) -> dict:
    """Pack a (pruned) model state dict into the compact representation; returns the ``lite_fairseq_compressed``
    entry (``policy``: default :class:`StoragePolicy`). Zeros already in the weights (pruning) are what makes the
    sparse encodings pay off."""
    policy = StoragePolicy() if policy is None else policy
    records: List[dict] = []
    parts = {name: [] for name in BLOB_NAMES}
    sizes = {name: 0 for name in BLOB_NAMES}
    seen: Dict[tuple, str] = {}

    def put(blob, tensor):
        tensor = tensor.reshape(-1).to(BLOB_DTYPES[blob])
        start = sizes[blob]
        parts[blob].append(tensor)
        sizes[blob] += tensor.numel()
        return start

    for name, tensor in state_dict.items():
        if not isinstance(tensor, torch.Tensor):
            raise TypeError(f"state dict entry {name!r} is a {type(tensor).__name__}, not a tensor")
        tensor = tensor.detach().cpu()
        record = {"name": name, "shape": list(tensor.shape)}
        key = _storage_key(tensor)
        if tensor.numel() > 0 and key in seen:
            record.update(enc="alias", of=seen[key])
            records.append(record)
            continue
        seen[key] = name
        if not tensor.is_floating_point() or str(tensor.dtype).replace("torch.", "") not in DTYPES:
            record.update(enc="raw", tensor=tensor.clone())
            records.append(record)
            continue
        record["dtype"] = str(tensor.dtype).replace("torch.", "")
        numel = tensor.numel()
        if policy.quantizes(tensor):
            codes, scale = quantize_per_channel(tensor, policy.bits)
            flat = codes.reshape(-1)
            nonzero = flat.ne(0)
            nnz = int(nonzero.sum())
            record["bits"] = policy.bits
            record["scales"] = (put("scales", scale), scale.numel())
            if math.ceil(numel / 8) + nnz < numel:
                record.update(enc="int8_sparse", nnz=nnz, mask=(put("bits", pack_bits(nonzero)), math.ceil(numel / 8)),
                              values=(put("codes", flat[nonzero]), nnz))
            else:
                record.update(enc="int8", values=(put("codes", flat), numel))
        else:
            flat = tensor.reshape(-1).to(torch.float32)
            nonzero = flat.ne(0)
            nnz = int(nonzero.sum())
            # a bitmap costs 1/32 of a float32 per element: worth it from about 3% zeros on
            if tensor.dim() >= 2 and math.ceil(numel / 8) + 4 * nnz < 4 * numel:
                record.update(enc="float_sparse", nnz=nnz, mask=(put("bits", pack_bits(nonzero)), math.ceil(numel / 8)),
                              values=(put("floats", flat[nonzero]), nnz))
            else:
                record.update(enc="float", values=(put("floats", flat), numel))
        records.append(record)

    blobs = {name: (torch.cat(parts[name]) if parts[name] else torch.empty(0, dtype=BLOB_DTYPES[name]))
             for name in BLOB_NAMES}
    return {"format": FORMAT, "version": VERSION, "bits": policy.bits, "tensors": records, "blobs": blobs,
            "checksums": {name: _crc(blob) for name, blob in blobs.items()}}


def _crc(tensor: torch.Tensor) -> int:
    return zlib.crc32(tensor.contiguous().view(torch.uint8).numpy().tobytes()) if tensor.numel() else 0


def compressed_checkpoint(checkpoint: dict, policy: Optional[StoragePolicy] = None, extra: Optional[dict] = None
                          ) -> dict:
    """A fairseq checkpoint dictionary with the model packed and the optimizer state left out (inference only)."""
    out = {k: v for k, v in checkpoint.items() if k not in ("model", "last_optimizer_state", MARKER)}
    out["model"] = {}
    packed = compress_state_dict(checkpoint["model"], policy)
    if extra:
        packed["info"] = dict(extra)
    out[MARKER] = packed
    return out


# ---------------------------------------------------------------------------------------------- decompress

def _fail(path, what) -> CompressedCheckpointError:
    return CompressedCheckpointError(f"corrupt compressed checkpoint {path}: {what} (re-create it with "
                                     "lite-fairseq-compress from the original checkpoint)")


def _slice(blobs, blob, span, path, name):
    if not (isinstance(span, (tuple, list)) and len(span) == 2 and all(isinstance(v, int) for v in span)):
        raise _fail(path, f"tensor {name!r} has a malformed {blob} span {span!r}")
    start, length = span
    if start < 0 or length < 0 or start + length > blobs[blob].numel():
        raise _fail(path, f"tensor {name!r} reads {blob}[{start}:{start + length}] beyond the blob's "
                          f"{blobs[blob].numel()} elements")
    return blobs[blob][start:start + length]


def decompress_state_dict(packed: dict, path="<memory>") -> Dict[str, torch.Tensor]:
    """The dense state dict back from the ``lite_fairseq_compressed`` entry; every inconsistency is an error
    that names the file and the tensor."""
    if not isinstance(packed, dict) or packed.get("format") != FORMAT:
        raise _fail(path, f"the {MARKER!r} entry is not in the {FORMAT} format")
    if packed.get("version") != VERSION:
        raise CompressedCheckpointError(
            f"compressed checkpoint {path} has format version {packed.get('version')!r}; this lite_fairseq reads "
            f"version {VERSION} (upgrade lite_fairseq, or re-compress the original checkpoint)")
    blobs, checksums, records = packed.get("blobs"), packed.get("checksums"), packed.get("tensors")
    if not isinstance(blobs, dict) or not isinstance(checksums, dict) or not isinstance(records, list):
        raise _fail(path, "the blobs, checksums or tensor records are missing")
    for name in BLOB_NAMES:
        blob = blobs.get(name)
        if not isinstance(blob, torch.Tensor) or blob.dtype != BLOB_DTYPES[name] or blob.dim() != 1:
            raise _fail(path, f"blob {name!r} is missing or not a 1-D {BLOB_DTYPES[name]} tensor")
        if _crc(blob) != checksums.get(name):
            raise _fail(path, f"checksum mismatch in the {name!r} blob (the file was modified or damaged)")

    out: Dict[str, torch.Tensor] = {}
    for record in records:
        name = record.get("name") if isinstance(record, dict) else None
        if not isinstance(name, str):
            raise _fail(path, f"malformed tensor record {record!r}")
        enc, shape = record.get("enc"), record.get("shape")
        if enc not in ENCODINGS or not isinstance(shape, list) or not all(isinstance(s, int) and s >= 0
                                                                          for s in shape):
            raise _fail(path, f"tensor {name!r} has an unknown encoding {enc!r} or a malformed shape {shape!r}")
        numel = math.prod(shape)
        if enc == "alias":
            target = out.get(record.get("of"))
            if target is None or list(target.shape) != shape:
                raise _fail(path, f"tensor {name!r} aliases {record.get('of')!r}, which is not an earlier tensor "
                                  "of the same shape")
            out[name] = target
            continue
        if enc == "raw":
            tensor = record.get("tensor")
            if not isinstance(tensor, torch.Tensor) or list(tensor.shape) != shape:
                raise _fail(path, f"raw tensor {name!r} is missing or has the wrong shape")
            out[name] = tensor
            continue
        dtype = DTYPES.get(record.get("dtype"))
        if dtype is None:
            raise _fail(path, f"tensor {name!r} has an unknown dtype {record.get('dtype')!r}")
        values = _slice(blobs, "codes" if enc.startswith("int8") else "floats", record.get("values"), path, name)
        if enc.endswith("_sparse"):
            mask_bytes = _slice(blobs, "bits", record.get("mask"), path, name)
            if mask_bytes.numel() != math.ceil(numel / 8):
                raise _fail(path, f"tensor {name!r}: bitmap of {mask_bytes.numel()} bytes for {numel} elements")
            mask = unpack_bits(mask_bytes, numel)
            if int(mask.sum()) != values.numel():
                raise _fail(path, f"tensor {name!r}: the bitmap marks {int(mask.sum())} nonzeros but "
                                  f"{values.numel()} values are stored")
            flat = torch.zeros(numel, dtype=values.dtype)
            flat[mask] = values
        else:
            if values.numel() != numel:
                raise _fail(path, f"tensor {name!r}: {values.numel()} values stored for shape {shape}")
            flat = values
        if enc.startswith("int8"):
            if not shape:
                raise _fail(path, f"quantised tensor {name!r} has no rows")
            scale = _slice(blobs, "scales", record.get("scales"), path, name)
            if scale.numel() != shape[0]:
                raise _fail(path, f"tensor {name!r}: {scale.numel()} scales for {shape[0]} rows")
            tensor = dequantize_per_channel(flat.reshape(shape), scale)
        else:
            tensor = flat.reshape(shape).clone()
        out[name] = tensor.to(dtype)
    return out


def decompress_state(state: dict, path="<memory>") -> dict:
    """A compressed fairseq checkpoint dictionary -> an ordinary dense one (in place; also returned)."""
    packed = state.pop(MARKER)
    state["model"] = decompress_state_dict(packed, path)
    return state


# ---------------------------------------------------------------------------------------------- statistics

def storage_stats(packed: dict) -> dict:
    """Counted from the stored tensors: per quantised/float tensor its elements, stored nonzeros and bit width,
    and the bytes of each blob."""
    blobs = packed["blobs"]
    tensors = {}
    for record in packed["tensors"]:
        if record["enc"] in ("alias", "raw"):
            continue
        numel = math.prod(record["shape"])
        if record["enc"].endswith("_sparse"):
            start, length = record["mask"]
            nnz = int(unpack_bits(blobs["bits"][start:start + length], numel).sum())
        else:
            start, length = record["values"]
            blob = blobs["codes" if record["enc"] == "int8" else "floats"]
            nnz = int(blob[start:start + length].ne(0).sum())
        value_blob = blobs["codes" if record["enc"].startswith("int8") else "floats"]
        tensors[record["name"]] = {"numel": numel, "nonzero": nnz, "enc": record["enc"],
                                   "bits": value_blob.element_size() * 8}
    return {"tensors": tensors,
            "blob_bytes": {name: blob.numel() * blob.element_size() for name, blob in blobs.items()}}
