using System.Buffers;
using System.Net;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Turn.Relay;
using Turn.Server;
using Turn.Wire;

namespace Turn.Transport;

/// <summary>
/// One TCP or TLS client. The read side cuts frames out of the stream and answers them; all
/// writes (responses and relayed data) go through one queue bounded in packets and in bytes and
/// one writer, so a slow client loses relayed packets rather than growing memory. Closing the connection ends the
/// allocation made on it (RFC 8656 §7).
/// </summary>
internal sealed class StreamConnection : IClientTransport, IClientSender
{
    private const int InitialBufferLength = 4096;
    private const int ResponseBufferLength = 2048;
    private const int QueueLength = 1024;

    /// <summary>Bytes queued for one client at most: a reader slower than this loses packets, and large frames cannot pile up.</summary>
    private const int QueueBytes = 1 << 20;

    private readonly Stream _stream;
    private readonly RequestContext _context;
    private readonly TurnMetrics _metrics;
    private readonly Channel<(byte[] Buffer, int Length)> _queue = Channel.CreateBounded<(byte[], int)>(
        new BoundedChannelOptions(QueueLength) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });

    [ThreadStatic]
    private static byte[]? t_response;

    private Allocation? _allocation;
    private int _queuedBytes;

    public StreamConnection(Stream stream, TransportProtocol protocol, EndPoint remote, EndPoint local, int role, TurnMetrics metrics)
    {
        _stream = stream;
        _context = new RequestContext(protocol, StunAddress.FromIPEndPoint((IPEndPoint)remote), StunAddress.FromIPEndPoint((IPEndPoint)local), role) { Client = this };
        _metrics = metrics;
    }

    public IClientSender SenderFor(StunAddress client) => this;

    public void Attach(Allocation allocation) => _allocation = allocation;

    /// <summary>Queues a copy of the packet; false when the queue is full (in packets or in bytes) or closed: the packet is dropped.</summary>
    public bool Send(ReadOnlySpan<byte> packet)
    {
        if (Interlocked.Add(ref _queuedBytes, packet.Length) > QueueBytes)
        {
            Interlocked.Add(ref _queuedBytes, -packet.Length);
            return false;
        }

        byte[] copy = ArrayPool<byte>.Shared.Rent(packet.Length);
        packet.CopyTo(copy);
        if (_queue.Writer.TryWrite((copy, packet.Length)))
        {
            return true;
        }

        Interlocked.Add(ref _queuedBytes, -packet.Length);
        ArrayPool<byte>.Shared.Return(copy);
        return false;
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
    public async Task<string> RunAsync(StunRequestHandler handler, RelayClock clock, TimeSpan firstMessage, TimeSpan idleTimeout, CancellationTokenSource idle)
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
                int consumed = 0;
                while (true)
                {
                    FrameStatus status = StreamFraming.TryGetFrame(buffer.AsSpan(consumed, filled - consumed), out int frameLength, out PacketKind kind);
                    if (status == FrameStatus.Invalid)
                    {
                        _metrics.CountPacket(_context.Transport, HandleResult.Drop(Outcome.DroppedNotStun));
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
                    if (!Answer(handler, clock, buffer.AsSpan(consumed, frameLength), kind))
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
            }
        }
        finally
        {
            _queue.Writer.TryComplete();
            if (buffer is not null)
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }

            if (_allocation is not null && handler.Relay is not null)
            {
                handler.Relay.Allocations.Remove(_allocation, AllocationEnd.ConnectionClosed, clock.NowMs);
            }

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

    /// <summary>Handles one frame and queues its answer; false when the send queue is full.</summary>
    private bool Answer(StunRequestHandler handler, RelayClock clock, ReadOnlySpan<byte> frame, PacketKind kind)
    {
        RequestContext context = _context with { NowMs = clock.NowMs, UnixSeconds = clock.UnixSeconds };
        if (kind == PacketKind.ChannelData)
        {
            _metrics.CountPacket(_context.Transport, handler.ChannelData(frame, context));
            return true;
        }

        byte[] response = t_response ??= new byte[ResponseBufferLength];
        long start = System.Diagnostics.Stopwatch.GetTimestamp();
        HandleResult result = handler.Handle(frame, context, response);
        _metrics.CountPacket(_context.Transport, result, start);
        return result.Length == 0 || Send(response.AsSpan(0, result.Length));
    }

    private async Task WriteLoop(CancellationToken cancellationToken)
    {
        try
        {
            await foreach ((byte[] buffer, int length) in _queue.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                try
                {
                    await _stream.WriteAsync(buffer.AsMemory(0, length), cancellationToken).ConfigureAwait(false);
                }
                finally
                {
                    Interlocked.Add(ref _queuedBytes, -length);
                    ArrayPool<byte>.Shared.Return(buffer);
                }
            }
        }
        finally
        {
            while (_queue.Reader.TryRead(out (byte[] Buffer, int Length) left))
            {
                ArrayPool<byte>.Shared.Return(left.Buffer);
            }
        }
    }

    private static byte[] Grow(byte[] buffer, int frameLength, int consumed, int filled)
    {
        byte[] larger = ArrayPool<byte>.Shared.Rent(Math.Min(frameLength, StreamFraming.MaxFrameLength));
        buffer.AsSpan(consumed, filled - consumed).CopyTo(larger);
        ArrayPool<byte>.Shared.Return(buffer);
        return larger;
    }
}
