namespace Turn.Transport.Linux;

/// <summary>
/// A socket descriptor used from several threads: each use takes a reference, and the descriptor
/// is closed when it has been closed and the last use ends, so its number cannot be reused by
/// another socket while a send or receive on it is in flight. Unlike SafeHandle, a use after
/// close is a plain false, not an exception, since allocations end while packets still arrive.
/// </summary>
internal sealed class FdHandle(int fd)
{
    private const int Closed = 1 << 30;

    private int _state;

    public int Fd { get; } = fd;

    public bool IsClosed => (Volatile.Read(ref _state) & Closed) != 0;

    public bool TryAddRef()
    {
        int state = Volatile.Read(ref _state);
        while ((state & Closed) == 0)
        {
            int seen = Interlocked.CompareExchange(ref _state, state + 1, state);
            if (seen == state)
            {
                return true;
            }

            state = seen;
        }

        return false;
    }

    public void Release()
    {
        if (Interlocked.Decrement(ref _state) == Closed)
        {
            Libc.Close(Fd);
        }
    }

    /// <summary>Closes now, or when the last use in flight ends; false when already closed.</summary>
    public bool Close()
    {
        int state = Volatile.Read(ref _state);
        while ((state & Closed) == 0)
        {
            int seen = Interlocked.CompareExchange(ref _state, state | Closed, state);
            if (seen == state)
            {
                if (state == 0)
                {
                    Libc.Close(Fd);
                }

                return true;
            }

            state = seen;
        }

        return false;
    }
}
