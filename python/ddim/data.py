"""Data sets by spec, as the CLI's --data reads them (data/dataset.h)."""

from . import _ddim

Dataset = _ddim.Dataset


def load(spec, split="train", limit=0, pad_to=-1, crop=0, resize=0, channels=0, attributes=None, where=(),
         label=None, seed=0, toy_size=0):
    """Loads a data set: ``ddim.data.load("fashion-mnist", split="test", limit=16)``.

    spec: fashion-mnist[:DIR], mnist:DIR, cifar10:DIR, folder:DIR, toy:circles|two-moons|gaussian,
    fonts[:FONT_DIR], faces[:DIR] (as --data). split: train, test or all; limit: the first
    examples (0: all); pad_to: zero padding to a square side (-1: the next multiple of 8, as
    training pads; 0: none); crop, resize, channels: folder and faces images; attributes: a
    folder's attributes file (CSV or CelebA's list); where: conditions such as "letter=A..Z";
    label: the attribute that becomes the labels; seed, toy_size: toy sets.

    Returns a Dataset: ``images`` (float [N, C, H, W] in [0, 1]), ``storage`` (the uint8 images
    ddim holds, shared), ``labels``, ``classes``, ``attributes`` ({name: {"values", "labels"}}),
    ``ids`` (fonts and faces), ``info``. Bad files raise ddim.FileError naming the file."""
    if isinstance(where, str):
        where = [where]
    return _ddim.load_data(str(spec), split, int(limit), int(pad_to), int(crop), int(resize), int(channels),
                           str(attributes or ""), list(where), str(label or ""), int(seed), int(toy_size))
