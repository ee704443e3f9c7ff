package dev.fusebox.converter;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.FileSystemLoopException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;

/**
 * Why an operation on a file failed, in the operating system's words: Java's file-system exceptions carry the path
 * as their message and the reason apart ("Permission denied", "No space left on device"), or only in their type.
 */
public final class IoReason {

    private IoReason() {
    }

    public static String of(IOException e) {
        if (e instanceof FileSystemException f) {
            if (f.getReason() != null) {
                return lowerFirst(f.getReason()) + (f.getOtherFile() != null ? " (" + f.getOtherFile() + ")" : "");
            }
            return switch (f) {
                case AccessDeniedException a -> "permission denied";
                case NoSuchFileException n -> "no such file or directory";
                case FileAlreadyExistsException x -> "it already exists";
                case DirectoryNotEmptyException d -> "the folder is not empty";
                case NotDirectoryException d -> "not a directory";
                case FileSystemLoopException l -> "the links lead in a loop";
                default -> f.getClass().getSimpleName();
            };
        }
        return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    }

    private static String lowerFirst(String s) {
        return s.isEmpty() ? s : Character.toLowerCase(s.charAt(0)) + s.substring(1);
    }
}
