package dev.fusebox.viewmodel.main;

/**
 * A message for the user that is not an answer to a question: an error to read, a job that finished.
 *
 * @param serial tells two equal messages in a row apart, so each is shown
 */
public record Notice(Kind kind, String text, long serial) {

    public enum Kind { INFO, SUCCESS, ERROR }
}
