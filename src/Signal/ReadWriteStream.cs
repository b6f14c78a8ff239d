namespace Turn.Signal;

/// <summary>
/// What a read-write, unseekable connection stream has in common: no length, no position, no
/// seeking, and a flush that has nothing to do; the reads and writes are the subclass's.
/// </summary>
public abstract class ReadWriteStream : Stream
{
    public override bool CanRead => true;

    public override bool CanWrite => true;

    public override bool CanSeek => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();
}
