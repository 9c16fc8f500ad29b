"""Square blocks and window sums on a raster grid, for the spatial split of the
samples (:mod:`.samples`): which split each block goes to, and which centres
keep their whole patch within one split. numpy only."""

import numpy as np


def box_any(mask, radius):
    """True where any pixel within ``radius`` cells (a square window) is True."""
    counts = box_sum(mask.astype(np.int32), radius)
    return counts > 0


def box_sum(values, radius):
    """Sum over the (2r+1)^2 window around each pixel, via an integral image."""
    height, width = values.shape
    integral = np.zeros((height + 1, width + 1), dtype=np.int64)
    np.cumsum(np.cumsum(values, axis=0), axis=1, out=integral[1:, 1:])
    rows = np.arange(height)
    cols = np.arange(width)
    r0 = np.clip(rows - radius, 0, height)[:, None]
    r1 = np.clip(rows + radius + 1, 0, height)[:, None]
    c0 = np.clip(cols - radius, 0, width)[None, :]
    c1 = np.clip(cols + radius + 1, 0, width)[None, :]
    return integral[r1, c1] - integral[r0, c1] - integral[r1, c0] + integral[r0, c0]


def spatial_split_map(shape, block_cells, ratios, rng, positives=None, inside=None):
    """A per-pixel split index (0 train, 1 validation, 2 test) from square blocks.

    Blocks are visited in random order. Blocks holding landslide pixels
    (``positives``) go to the split furthest below its share of landslide
    pixels, so every split gets landslides in proportion to ``ratios``; the
    other blocks go to the split furthest below its share of blocks. With
    ``inside`` (the mapped area), blocks without an inside pixel get -1 (no
    split) and do not count in the shares.
    """
    height, width = shape
    block_rows = -(-height // block_cells)
    block_cols = -(-width // block_cells)
    n_blocks = block_rows * block_cols
    weight = np.zeros(n_blocks) if positives is None else \
        _block_sums(positives, block_cells, block_rows, block_cols)
    used = np.ones(n_blocks, dtype=bool) if inside is None else \
        _block_sums(inside, block_cells, block_rows, block_cols) > 0
    block_split = np.full(n_blocks, -1, dtype=np.int8)
    landslides = np.zeros(3)
    blocks = np.zeros(3)
    order = rng.permutation(n_blocks)
    for index in sorted(order, key=lambda b: weight[b] == 0):  # landslide blocks first
        if not used[index]:
            continue
        if weight[index] > 0:
            deficit = ratios * (landslides.sum() + weight[index]) - landslides
        else:
            deficit = ratios * (blocks.sum() + 1) - blocks
        split = int(np.argmax(deficit))
        block_split[index] = split
        landslides[split] += weight[index]
        blocks[split] += 1
    grid = block_split.reshape(block_rows, block_cols)
    split_map = np.repeat(np.repeat(grid, block_cells, axis=0), block_cells, axis=1)
    return split_map[:height, :width], grid


def _block_sums(values, block_cells, block_rows, block_cols):
    """The sum of ``values`` in each block, blocks in row-major order."""
    height, width = values.shape
    padded = np.zeros((block_rows * block_cells, block_cols * block_cells))
    padded[:height, :width] = values
    return padded.reshape(block_rows, block_cells, block_cols, block_cells) \
        .sum(axis=(1, 3)).ravel()


def clear_of_other_splits(split_map, patch_size):
    """True where the whole patch window lies within one split (no cross-split overlap).

    A centre is kept when every pixel within ``patch_size // 2`` (Chebyshev) has the
    same split or none (-1: a block outside the mapped area, where no centre is);
    two kept centres of different splits are then at least a patch apart.
    """
    radius = patch_size // 2 + patch_size % 2
    keep = np.ones(split_map.shape, dtype=bool)
    for split in range(3):
        other = (split_map != split) & (split_map >= 0)
        keep &= ~((split_map == split) & box_any(other, radius))
    return keep
