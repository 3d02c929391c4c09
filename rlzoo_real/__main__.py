from rlzoo_real.cli import main

if __name__ == "__main__":
    main()
