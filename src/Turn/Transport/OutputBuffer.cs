using System.Buffers;
using Turn.Transport.Linux;

namespace Turn.Transport;

/// <summary>
/// The bytes waiting to be written to one stream client, bounded by <see cref="Limit"/>: a
/// pooled array while something is pending, nothing while the connection is idle. Not
/// thread-safe; its owner calls it under its own lock.
/// </summary>
internal struct OutputBuffer
{
    /// <summary>Bytes queued for one client at most: a reader slower than this loses packets, and large frames cannot pile up.</summary>
    public const int Limit = 1 << 20;

    private const int InitialLength = 4096;

    private byte[]? _buffer;

    public enum SendResult
    {
        /// <summary>The kernel took everything; the buffer went back to the pool.</summary>
        All,

        /// <summary>The kernel took part or nothing and would block; the rest waits at the front.</summary>
        WouldBlock,

        /// <summary>The connection broke.</summary>
        Broken,
    }

    public int Length { get; private set; }

    /// <summary>Appends one packet; false when it would pass <see cref="Limit"/> (the packet is dropped).</summary>
    public bool TryAppend(ReadOnlySpan<byte> packet)
    {
        if (Length + packet.Length > Limit)
        {
            return false;
        }

        if (_buffer is null || Length + packet.Length > _buffer.Length)
        {
            Grow(Length + packet.Length);
        }

        packet.CopyTo(_buffer.AsSpan(Length));
        Length += packet.Length;
        return true;
    }

    /// <summary>A non-blocking send of everything pending on <paramref name="fd"/>.</summary>
    public unsafe SendResult SendTo(int fd)
    {
        nint sent;
        fixed (byte* data = _buffer)
        {
            sent = Libc.Send(fd, data, (nuint)Length, Libc.MsgDontWait | Libc.MsgNoSignal);
        }

        if (sent == Length)
        {
            // An idle connection holds no buffer; the pool makes the next rent cheap.
            Release();
            return SendResult.All;
        }

        if (sent > 0)
        {
            _buffer.AsSpan((int)sent, Length - (int)sent).CopyTo(_buffer);
            Length -= (int)sent;
            return SendResult.WouldBlock;
        }

        return Libc.Errno is Libc.EAgain or Libc.EIntr ? SendResult.WouldBlock : SendResult.Broken;
    }

    /// <summary>Takes the pending bytes out for a writer, leaving <paramref name="replacement"/> (or nothing) to take appends.</summary>
    public byte[]? Take(byte[]? replacement, out int length)
    {
        byte[]? taken = _buffer;
        length = Length;
        _buffer = replacement;
        Length = 0;
        return taken;
    }

    /// <summary>Forgets what is pending and gives the array back.</summary>
    public void Release()
    {
        Length = 0;
        if (_buffer is not null)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = null;
        }
    }

    private void Grow(int needed)
    {
        int length = Math.Max(InitialLength, _buffer?.Length ?? 0);
        while (length < needed)
        {
            length *= 2;
        }

        byte[] larger = ArrayPool<byte>.Shared.Rent(Math.Min(length, Limit));
        if (_buffer is not null)
        {
            _buffer.AsSpan(0, Length).CopyTo(larger);
            ArrayPool<byte>.Shared.Return(_buffer);
        }

        _buffer = larger;
    }
}
