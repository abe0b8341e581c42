"""Customer-base statistics: RFM summaries, BG/NBD, Gamma-Gamma spend and CLV, dormancy gaps.

Pure NumPy/SciPy, data in and data out. A service builds the arrays from the
orders table and passes the observation date in; nothing here reads the clock.

    summary = rfm.summarise(customer_ids, order_dates, observation_end=as_of, period="week")
    model = bgnbd.fit_bgnbd(summary.frequency, summary.recency, summary.T)
    alive = bgnbd.p_alive(model, summary.frequency, summary.recency, summary.T)
"""
