using System.Buffers;
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;
using Turn.Relay;
using Turn.Server;
using Turn.Transport.Linux;
using Turn.Wire;

namespace Turn.Transport;

/// <summary>
/// One TCP or TLS client. The read side cuts frames out of the stream and answers them. Every
/// write (responses and relayed data) is appended to one output buffer, bounded in bytes, by
/// whichever thread has it: a data-plane thread appends the frames of a whole receive batch and
/// then flushes once. A plain TCP connection is flushed by that thread with a non-blocking send;
/// only what the kernel will not take yet, and everything for TLS (which must be encrypted in
/// order), is left to the connection's writer loop. A slow client loses relayed packets rather
/// than growing memory. Closing the connection ends the allocation made on it (RFC 8656 §7).
/// </summary>
internal sealed class StreamConnection : IClientTransport, IBufferedClientSender
{
    private const int InitialBufferLength = 4096;

    private readonly Stream _stream;
    private readonly Socket? _direct;
    private readonly RequestContext _context;
    private readonly PacketPath _path;
    private readonly Lock _lock = new();
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { SingleReader = true, FullMode = BoundedChannelFullMode.DropWrite });

    [ThreadStatic]
    private static byte[]? t_response;

    private Allocation? _allocation;
    private OutputBuffer _out;
    private byte[]? _spare;
    private bool _writing;
    private bool _closed;

    /// <param name="socket">The connection's socket when the stream is plain TCP over it, so data-plane threads may send on it directly; null for TLS.</param>
    public StreamConnection(Stream stream, Socket? socket, TransportProtocol protocol, EndPoint remote, EndPoint local, int role, PacketPath path)
    {
        _stream = stream;
        _direct = socket is not null && Libc.Available() ? socket : null;
        _context = new RequestContext(protocol, StunAddress.FromIPEndPoint((IPEndPoint)remote), StunAddress.FromIPEndPoint((IPEndPoint)local), role) { Client = this };
        _path = path;
    }

    public IClientSender SenderFor(StunAddress client) => this;

    public void Attach(Allocation allocation) => _allocation = allocation;

    /// <summary>Appends one packet for the next <see cref="Flush"/>; false when it was dropped.</summary>
    public bool Append(ReadOnlySpan<byte> packet)
    {
        lock (_lock)
        {
            return !_closed && _out.TryAppend(packet);
        }
    }

    /// <summary>
    /// Hands what was appended to the kernel: at once on a plain TCP connection while the kernel
    /// takes it, through the writer loop otherwise. Never blocks.
    /// </summary>
    public void Flush()
    {
        lock (_lock)
        {
            if (_writing || _out.Length == 0 || _closed)
            {
                return;
            }

            // Would block, or broke: the writer loop waits for room, or meets the error and ends.
            if (_direct is not null && _out.SendTo((int)_direct.Handle) == OutputBuffer.SendResult.All)
            {
                return;
            }

            _writing = true;
        }

        _wake.Writer.TryWrite(true);
    }

    /// <summary>Complete messages (STUN or ChannelData) read so far.</summary>
    public long MessagesRead { get; private set; }

    /// <summary>
    /// Reads until the peer closes, the stream breaks, a deadline passes or it sends garbage; returns
    /// why it ended. The first message must be complete within <paramref name="firstMessage"/>; after
    /// that each complete message gives the connection <paramref name="idleTimeout"/> more, and bytes
    /// that do not complete one give it nothing, so a trickle cannot hold it open. While no partial
    /// message is pending the connection waits with a zero-byte read and holds no buffer.
    /// </summary>
    public async Task<string> RunAsync(RelayClock clock, TimeSpan firstMessage, TimeSpan idleTimeout, CancellationTokenSource idle)
    {
        Task writer = WriteLoop(idle.Token);
        idle.CancelAfter(firstMessage > TimeSpan.Zero ? firstMessage : TimeSpan.Zero);
        byte[]? buffer = null;
        try
        {
            int filled = 0;
            while (true)
            {
                if (filled == 0)
                {
                    if (buffer is not null)
                    {
                        ArrayPool<byte>.Shared.Return(buffer);
                        buffer = null;
                    }

                    // Returns once bytes (or the end of the stream) arrive; the read below tells which.
                    await _stream.ReadAsync(Memory<byte>.Empty, idle.Token).ConfigureAwait(false);
                }

                buffer ??= ArrayPool<byte>.Shared.Rent(InitialBufferLength);

                int read = await _stream.ReadAsync(buffer.AsMemory(filled), idle.Token).ConfigureAwait(false);
                if (read == 0)
                {
                    return "closed by peer";
                }

                filled += read;
                if (AnswerFrames(clock, ref buffer, ref filled, idleTimeout, idle) is { } reason)
                {
                    return reason;
                }
            }
        }
        finally
        {
            if (buffer is not null)
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }

            if (_allocation is not null && _path.Handler.Relay is { } relay)
            {
                relay.Allocations.Remove(_allocation, AllocationEnd.ConnectionClosed, clock.NowMs);
            }

            Close();

            await idle.CancelAsync().ConfigureAwait(false);
            try
            {
                await writer.ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or IOException or ObjectDisposedException)
            {
                // The connection is going away; what was queued is lost with it.
            }
        }
    }

    /// <summary>
    /// Answers every whole frame in the first <paramref name="filled"/> bytes and moves what is
    /// left of the next to the front (into a larger buffer when it needs one); why the connection
    /// ends, or null.
    /// </summary>
    private string? AnswerFrames(RelayClock clock, ref byte[] buffer, ref int filled, TimeSpan idleTimeout, CancellationTokenSource idle)
    {
        int consumed = 0;
        while (true)
        {
            FrameStatus status = StreamFraming.TryGetFrame(buffer.AsSpan(consumed, filled - consumed), out int frameLength, out _);
            if (status == FrameStatus.Invalid)
            {
                _path.NotStun(_context.Transport);
                return "not STUN";
            }

            if (status == FrameStatus.NeedMore)
            {
                if (frameLength > buffer.Length)
                {
                    buffer = Grow(buffer, frameLength, consumed, filled);
                    filled -= consumed;
                    consumed = 0;
                }

                break;
            }

            MessagesRead++;
            idle.CancelAfter(idleTimeout);
            if (!Answer(clock, buffer.AsSpan(consumed, frameLength)))
            {
                return "send queue full";
            }

            consumed += frameLength;
        }

        if (consumed > 0)
        {
            buffer.AsSpan(consumed, filled - consumed).CopyTo(buffer);
            filled -= consumed;
        }

        return null;
    }

    /// <summary>Handles one frame and queues its answer; false when the output buffer is full.</summary>
    private bool Answer(RelayClock clock, ReadOnlySpan<byte> frame)
    {
        RequestContext context = _context with { NowMs = clock.NowMs, UnixSeconds = clock.UnixSeconds };
        byte[] response = t_response ??= new byte[PacketPath.ResponseLength];
        HandleResult result = _path.FromClient(frame, context, response);
        return result.Length == 0 || ((IClientSender)this).Send(response.AsSpan(0, result.Length));
    }

    /// <summary>
    /// Writes what the flushes left: waits for a wake-up, then takes the pending bytes out (the
    /// other buffer takes appends meanwhile) and writes them, until nothing is pending.
    /// </summary>
    private async Task WriteLoop(CancellationToken cancellationToken)
    {
        try
        {
            while (await _wake.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                _wake.Reader.TryRead(out _);
                while (true)
                {
                    byte[]? buffer;
                    int length;
                    lock (_lock)
                    {
                        if (_out.Length == 0 || _closed)
                        {
                            _writing = false;
                            break;
                        }

                        buffer = _out.Take(_spare, out length);
                        _spare = null;
                    }

                    try
                    {
                        await _stream.WriteAsync(buffer.AsMemory(0, length), cancellationToken).ConfigureAwait(false);
                    }
                    finally
                    {
                        // Kept as the spare, or back to the pool, also when the write failed.
                        lock (_lock)
                        {
                            if (_spare is null && !_closed)
                            {
                                _spare = buffer;
                            }
                            else
                            {
                                ArrayPool<byte>.Shared.Return(buffer!);
                            }
                        }
                    }
                }
            }
        }
        finally
        {
            Close();
        }
    }

    /// <summary>Refuses further writes and gives the buffers back; what was pending is lost with the connection.</summary>
    private void Close()
    {
        lock (_lock)
        {
            if (_closed)
            {
                return;
            }

            _closed = true;
            _out.Release();

            if (_spare is not null)
            {
                ArrayPool<byte>.Shared.Return(_spare);
                _spare = null;
            }
        }

        _wake.Writer.TryComplete();
    }

    private static byte[] Grow(byte[] buffer, int frameLength, int consumed, int filled)
    {
        byte[] larger = ArrayPool<byte>.Shared.Rent(Math.Min(frameLength, StreamFraming.MaxFrameLength));
        buffer.AsSpan(consumed, filled - consumed).CopyTo(larger);
        ArrayPool<byte>.Shared.Return(buffer);
        return larger;
    }
}
