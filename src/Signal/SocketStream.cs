using System.Net.Sockets;

namespace Turn.Signal;

/// <summary>
/// A connected socket as the <see cref="Stream"/> a signaling WebSocket works on. Reads are the
/// socket's own asynchronous receives (a zero-byte one waits without a buffer). A write is first
/// offered to the kernel at once, without blocking, and only what it did not take waits
/// asynchronously: writing to a client that keeps up needs no asynchronous operation, and a
/// connection that never waits on a write holds no state for one. Disposing it closes the socket.
/// </summary>
internal sealed class SocketStream : ReadWriteStream
{
    private readonly Socket _socket;

    public SocketStream(Socket socket)
    {
        _socket = socket;

        // Only the synchronous send below is affected: it returns WouldBlock instead of waiting.
        _socket.Blocking = false;
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        => _socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken);

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        => ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        int sent = _socket.Send(buffer.Span, SocketFlags.None, out SocketError error);
        if (error == SocketError.Success && sent == buffer.Length)
        {
            return ValueTask.CompletedTask;
        }

        if (error is not (SocketError.Success or SocketError.WouldBlock))
        {
            return ValueTask.FromException(new IOException($"sending failed: {error}", new SocketException((int)error)));
        }

        return SendRest(buffer[Math.Max(sent, 0)..], cancellationToken);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        => WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public override void Flush()
    {
    }

    /// <summary>What the kernel did not take at once, as its buffer drains.</summary>
    private async ValueTask SendRest(ReadOnlyMemory<byte> rest, CancellationToken cancellationToken)
    {
        while (rest.Length > 0)
        {
            int sent = await _socket.SendAsync(rest, SocketFlags.None, cancellationToken).ConfigureAwait(false);
            rest = rest[sent..];
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _socket.Dispose();
        }

        base.Dispose(disposing);
    }
}
