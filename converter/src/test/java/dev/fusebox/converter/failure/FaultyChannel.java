package dev.fusebox.converter.failure;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;

/** A file channel whose writes draw on the budget of a {@link FaultyFileSystem}, and fail once it is spent. */
final class FaultyChannel extends FileChannel {

    private final FileChannel real;
    private final FaultyFileSystem fs;

    FaultyChannel(FileChannel real, FaultyFileSystem fs) {
        this.real = real;
        this.fs = fs;
    }

    @Override
    public int write(ByteBuffer src) throws IOException {
        if (!src.hasRemaining()) {
            return 0;
        }
        int granted = fs.take(src.remaining());
        ByteBuffer part = src.slice(src.position(), granted);
        int n = real.write(part);
        src.position(src.position() + n);
        return n;
    }

    @Override
    public int write(ByteBuffer src, long position) throws IOException {
        if (!src.hasRemaining()) {
            return 0;
        }
        int granted = fs.take(src.remaining());
        ByteBuffer part = src.slice(src.position(), granted);
        int n = real.write(part, position);
        src.position(src.position() + n);
        return n;
    }

    @Override
    public long write(ByteBuffer[] srcs, int offset, int length) throws IOException {
        long n = 0;
        for (int i = offset; i < offset + length; i++) {
            n += write(srcs[i]);
            if (srcs[i].hasRemaining()) {
                break;
            }
        }
        return n;
    }

    @Override
    public long transferFrom(ReadableByteChannel src, long position, long count) throws IOException {
        ByteBuffer b = ByteBuffer.allocate((int) Math.min(count, 1 << 16));
        long done = 0;
        while (done < count) {
            b.clear().limit((int) Math.min(b.capacity(), count - done));
            int r = src.read(b);
            if (r <= 0) {
                break;
            }
            b.flip();
            while (b.hasRemaining()) {
                done += write(b, position + done);
            }
        }
        return done;
    }

    @Override
    public int read(ByteBuffer dst) throws IOException {
        return real.read(dst);
    }

    @Override
    public long read(ByteBuffer[] dsts, int offset, int length) throws IOException {
        return real.read(dsts, offset, length);
    }

    @Override
    public int read(ByteBuffer dst, long position) throws IOException {
        return real.read(dst, position);
    }

    @Override
    public long position() throws IOException {
        return real.position();
    }

    @Override
    public FileChannel position(long newPosition) throws IOException {
        real.position(newPosition);
        return this;
    }

    @Override
    public long size() throws IOException {
        return real.size();
    }

    @Override
    public FileChannel truncate(long size) throws IOException {
        real.truncate(size);
        return this;
    }

    @Override
    public void force(boolean metaData) throws IOException {
        real.force(metaData);
    }

    @Override
    public long transferTo(long position, long count, WritableByteChannel target) throws IOException {
        return real.transferTo(position, count, target);
    }

    @Override
    public MappedByteBuffer map(MapMode mode, long position, long size) throws IOException {
        throw new IOException("mapping an output file is not expected here");
    }

    @Override
    public FileLock lock(long position, long size, boolean shared) throws IOException {
        return real.lock(position, size, shared);
    }

    @Override
    public FileLock tryLock(long position, long size, boolean shared) throws IOException {
        return real.tryLock(position, size, shared);
    }

    @Override
    protected void implCloseChannel() throws IOException {
        real.close();
    }
}
