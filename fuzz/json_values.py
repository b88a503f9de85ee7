"""Values of any JSON shape for the structure-aware fuzz targets: numbers (huge, tiny,
negative, integers past float's range), strings, booleans, null, and nested lists and
objects whose keys are drawn from ``keys`` (the names a target's parser looks for) or are
random strings."""


def json_value(fdp, keys=None, depth: int = 0, max_depth: int = 3):
    """One value from the atheris ``FuzzedDataProvider`` ``fdp``; lists and objects only
    above ``max_depth`` levels of nesting."""
    kind = fdp.ConsumeIntInRange(0, 8 if depth < max_depth else 6)
    if kind == 0:
        return fdp.ConsumeInt(8)
    if kind == 1:
        return fdp.ConsumeRegularFloat()
    if kind == 2:
        return fdp.ConsumeUnicodeNoSurrogates(24)
    if kind == 3:
        return fdp.ConsumeBool()
    if kind == 4:
        return None
    if kind == 5:
        return 10.0 ** fdp.ConsumeIntInRange(-300, 308)
    if kind == 6:                      # an integer no float holds
        return 10 ** fdp.ConsumeIntInRange(0, 400) * (-1 if fdp.ConsumeBool() else 1)
    if kind == 7:
        return [json_value(fdp, keys, depth + 1, max_depth)
                for _ in range(fdp.ConsumeIntInRange(0, 4))]
    return {(fdp.PickValueInList(keys) if keys and fdp.ConsumeBool()
             else fdp.ConsumeUnicodeNoSurrogates(8)): json_value(fdp, keys, depth + 1, max_depth)
            for _ in range(fdp.ConsumeIntInRange(0, 4))}
