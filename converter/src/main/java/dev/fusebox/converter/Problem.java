package dev.fusebox.converter;

/** What went wrong, as a closed set the CLI and the view models can react to. */
public enum Problem {
    /** The path does not exist or is not a checkpoint, adapter or safetensors file. */
    NOT_A_CHECKPOINT,
    /** Reading or writing failed at the operating-system level. */
    IO_ERROR,
    /** Fewer than 8 bytes: no room for the header length. */
    HEADER_TOO_SMALL,
    /** The header length is over the 100 MB limit of the format. */
    HEADER_TOO_LARGE,
    /** The header length points past the end of the file. */
    INVALID_HEADER_LENGTH,
    /** The header is not valid UTF-8. */
    INVALID_HEADER_UTF8,
    /** The header is not a JSON object of the expected shape. */
    INVALID_HEADER_JSON,
    /** The same key appears twice. */
    DUPLICATE_KEY,
    /** {@code __metadata__} is not a map of strings to strings. */
    INVALID_METADATA,
    /** A dtype the format does not define. */
    UNKNOWN_DTYPE,
    /** A negative or non-integer dimension. */
    INVALID_SHAPE,
    /** Data offsets reversed, overlapping or leaving holes. */
    INVALID_OFFSETS,
    /** The byte length of a tensor is not its element count times the dtype size. */
    SIZE_MISMATCH,
    /** A size computation does not fit in 64 bits. */
    SIZE_OVERFLOW,
    /** The last tensor does not end where the file ends. */
    INCOMPLETE_DATA,
    /** model.safetensors.index.json is malformed. */
    INVALID_INDEX,
    /** A shard named by the index leaves the checkpoint directory. */
    SHARD_OUTSIDE_CHECKPOINT,
    /** A link in a checkpoint leads out of its folder (and, for a cache snapshot, out of its repo's blobs/). */
    LINK_OUTSIDE_CHECKPOINT,
    /** A file a checkpoint needs is a directory, a pipe, a device, a socket or a link loop: only regular files are read. */
    NOT_A_REGULAR_FILE,
    /** A shard named by the index does not exist. */
    MISSING_SHARD,
    /** A tensor named by the index is not in its shard, or a shard holds tensors the index does not name. */
    INDEX_MISMATCH,
    /** config.json or adapter_config.json is malformed. */
    INVALID_CONFIG,
    /** A tensor a model needs is missing, or its shape does not fit the model or the base an adapter applies to. */
    SHAPE_MISMATCH,
    /** A .bin file is not a well-formed PyTorch zip archive (torch.save's format). */
    INVALID_ARCHIVE,
    /** The pickle inside a .bin file is malformed or does not describe a state dict of tensors. */
    INVALID_PICKLE,
    /** The pickle names a global, opcode or persistent id outside the tensor-rebuild vocabulary: never run. */
    REFUSED_PICKLE,
    /** An adapter's tensors do not pair up: a lora_A without its lora_B (or the reverse), or ranks that disagree. */
    INVALID_ADAPTER,
    /** More tensors than {@link Limits} lets Fusebox hold: a hostile file, or far larger than any real checkpoint. */
    TOO_MANY_TENSORS,
    /** A request the engine cannot satisfy as asked (unsupported option, wrong kind of input). */
    UNSUPPORTED,
    /** The user cancelled the work. */
    CANCELLED,
    /** A conversion rule file is malformed, or a rule cannot apply to the tensors it matches. */
    INVALID_RULES,
    /** No conversion rules are known for the checkpoint's model type. */
    NO_RULES,
    /** The checkpoint is already in the layout asked for: nothing to convert. */
    ALREADY_CONVERTED,
    /** The checkpoint holds keys of both layouts, or none the rules recognise. */
    MIXED_LAYOUT,
    /** Every tensor whose shape would tell the layout has a shape that is the same in both layouts. */
    AMBIGUOUS_LAYOUT,
    /** A rule matched some experts of a group but not all of them. */
    MISSING_EXPERT,
    /** More experts than the config declares, or experts that only some of a rule's sources have. */
    EXTRA_EXPERT,
    /** A tensor a multi-source rule needs is absent. */
    MISSING_TENSOR,
    /** Tensors a rule joins do not have shapes that fit together (or that its inverse could split again). */
    RAGGED_SHAPES,
    /** Tensors a rule joins have different dtypes. */
    MIXED_DTYPES,
    /** One key is matched by two conversion rules. */
    AMBIGUOUS_RULES,
    /** Two tensors would be written under the same key. */
    KEY_COLLISION,
    /** The output already exists and --force was not given, or it would overwrite the input. */
    OUTPUT_EXISTS
}
